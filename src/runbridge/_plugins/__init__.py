"""The plugins wing: the ``Adapter`` contract, the pluggy hook, and the registry that
discovers, registers and checks adapter plugins.
"""
