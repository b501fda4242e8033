# bash: background jobs, wait, job table, signals, coprocesses.
sleep 1 & jobs; wait; echo "waited: $?"
(sleep 0.2; exit 7) & pid=$!; wait $pid; echo "child exit: $?"
sleep 5 & kill %1; wait %1; echo "killed: $?"
sleep 0.3 & sleep 0.1 & wait -n; echo "wait -n: $?"; wait
trap 'echo got USR1' USR1; kill -USR1 $$; echo "after signal"
(trap 'echo child got TERM; exit 9' TERM; kill -TERM $BASHPID; sleep 5) ; echo "subshell: $?"
coproc upper { tr a-z A-Z; }; echo "coproc input" >&"${upper[1]}"; exec {upper[1]}>&-; read -r line <&"${upper[0]}"; echo "$line"; wait
ulimit -S -n 256; ulimit -n; ulimit -S -c 0; ulimit -c
timeout 0.5 sleep 5; echo "timeout: $?"
echo "$(( $(date +%s) > 1700000000 ))"
