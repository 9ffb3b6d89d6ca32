from streams.simulator.cli import main

main()
