"""The ``bwnumbers`` command, one concern per module; ``bwnumbers.cli`` is its public face.

``_parser`` (flags, help, suggestions), ``_exit_codes`` (which error exits how), ``_flags``
(SDK messages in the words of the command line), ``_output`` (stderr lines), and one module
per group of commands: ``_demo``, ``_emulator``, ``_account`` (search, order-status) and
``_order``. ``_main`` ties them together.
"""
