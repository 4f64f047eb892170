complete --keep-order --exclusive --command sfcred --arguments "(COMPLETE=fish sfcred -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
