from streams.worker.main import main

main()
