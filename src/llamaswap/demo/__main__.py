"""``python -m llamaswap.demo --port N``: the fake upstream used by demos and tests."""

from llamaswap.demo.server import main

if __name__ == "__main__":
    main()
