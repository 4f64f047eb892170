#!/usr/bin/env zsh
# Drives a real interactive zsh through the zsh/zpty module with sfcred's zsh completion
# installed, types a command line, presses TAB and prints what the terminal showed.
#
# usage: zsh zsh-first-tab.zsh SFCRED_BIN COMPLETIONS_DIR [MODE] [LINE] [TABS]
#   MODE  fpath (default): COMPLETIONS_DIR in fpath, then compinit (README's install)
#         source: compinit, then `source COMPLETIONS_DIR/_sfcred`
#         eval:   compinit, then `eval "$(COMPLETE=zsh sfcred)"` (COMPLETIONS_DIR unused)
#         system: compinit alone, as an installed package is found (COMPLETIONS_DIR unused)
#   LINE  what is typed before TAB; default 'sfcred token --profile '
#   TABS  how many times TAB is pressed; default 1
#   SFCRED_BIN is put on PATH as `sfcred`. The environment (XDG_CONFIG_HOME, HOME, ...) is
#   passed through, so sfcred reads the caller's settings; ZDOTDIR is a private temp dir.
#   ZPTY_TIMEOUT (seconds, default 20) bounds every wait.
# stdout: for each TAB, a line "--- TAB n (widget status s)" and what the terminal showed
#   after it, escape sequences removed and bells shown as [BEL].
# exit:   0 done; 1 usage/setup error; 2 the shell exited; 3 timeout.

emulate zsh
setopt extended_glob no_unset
zmodload zsh/zpty zsh/zselect zsh/datetime || exit 1

if (( $# < 2 )) || [[ ! -x $1 || ! -d $2 ]]; then
    print -u2 "usage: $0 SFCRED_BIN COMPLETIONS_DIR [fpath|source|eval|system] [LINE] [TABS]"
    exit 1
fi
bin=${1:A} dir=${2:A} mode=${3:-fpath} line=${4:-'sfcred token --profile '} tabs=${5:-1}
timeout=${ZPTY_TIMEOUT:-20}

tmp=$(mktemp -d) || exit 1
trap 'zpty -d sfcredsh 2>/dev/null; rm -rf -- $tmp' EXIT
mkdir $tmp/bin && ln -s $bin $tmp/bin/sfcred || exit 1

compinit="autoload -U compinit; compinit -u -d ${(q)tmp}/zcompdump"
case $mode in
    fpath)  install="fpath=(${(q)dir} \$fpath); $compinit" ;;
    source) install="$compinit; source ${(q)dir}/_sfcred" ;;
    eval)   install="$compinit; eval \"\$(COMPLETE=zsh sfcred)\"" ;;
    system) install=$compinit ;;
    *)      print -u2 "MODE must be fpath, source, eval or system"; exit 1 ;;
esac
# TAB runs the stock widget, forces its listing onto the screen, then prints a numbered
# marker with the widget's status, so the reader knows when completion has finished.
cat > $tmp/.zshrc <<ZSHRC
stty cols 200 rows 50
PS1='%# '
path=(${(q)tmp}/bin \$path)
$install
integer _zpty_tabs=0
_zpty_tab() {
    zle expand-or-complete; local ret=\$?
    zle -R
    print -rn -- "<<TAB-DONE \$(( ++_zpty_tabs )) status=\$ret>>" >/dev/tty
    return ret
}
zle -N _zpty_tab
bindkey '^I' _zpty_tab
print -rn -- '<<READY>>'
ZSHRC

zpty -b sfcredsh "ZDOTDIR=${(q)tmp} TERM=xterm zsh -d -i" || exit 1
fd=$REPLY
buf=

# Reads pty output into $buf until $buf matches the pattern $1; bounded by $timeout.
read_until() {
    local pat=$1 chunk deadline=$(( EPOCHREALTIME + timeout ))
    while [[ $buf != $~pat ]]; do
        if zpty -rt sfcredsh chunk; then buf+=$chunk; continue; fi
        zpty -t sfcredsh || { print -u2 "zsh exited; output so far:"; print -ru2 -- "$buf"; exit 2 }
        if (( EPOCHREALTIME > deadline )); then
            print -u2 "timeout waiting for $pat; output so far:"; print -ru2 -- "$buf"; exit 3
        fi
        zselect -t 10 -r $fd   # at most 0.1s
    done
}

read_until '*<<READY>>*'
zpty -w -n sfcredsh "$line"
read_until "*${(b)line% }*"
for (( n = 1; n <= tabs; n++ )); do
    buf=
    zpty -w -n sfcredsh $'\t'
    read_until "*<<TAB-DONE $n status=[0-9]##>>*"
    out=${buf%%<<TAB-DONE*}
    out=${out//$'\e'\[[0-9;?]#[@-~]/}     # CSI sequences
    out=${out//$'\e'[=>()][0-9A-Za-z]#/}  # keypad modes, charsets
    out=${out//$'\a'/[BEL]}
    out=${out//$'\r'/}
    print -r -- "--- TAB $n (widget status ${${buf#*<<TAB-DONE $n status=}%%>>*})"
    print -r -- "$out"
done
exit 0
