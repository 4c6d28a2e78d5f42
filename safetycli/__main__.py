from safetycli.cli import entry

entry()
