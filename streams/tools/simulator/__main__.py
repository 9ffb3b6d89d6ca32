from streams.tools.simulator.cli import main

main()
