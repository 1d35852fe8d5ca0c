from novalog.cli import main

if __name__ == "__main__":  # not when a spawned helper process (novalog/replay_fold.py) imports it
    main()
