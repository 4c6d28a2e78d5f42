from safetycli.cli import main

main()
