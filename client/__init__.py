"""PiPo's Python SDK and command-line client (bots, scripts, tests).

A stub until the relay and accounts exist (issues #3 and #5); it will use
`protocol/` for every cryptographic rule, exactly as the server does.
"""
