# findutils: find with tests and actions, xargs.
find data | sort
find data -name '*.txt' -type f | sort
find data -type d | sort; find data -type l | sort; find data -maxdepth 1 -type f -name '[a-f]*' | sort
find data -size +10k; find data -empty | sort; find data -perm -u+x -type f
find data -newermt '2024-01-01' -name 'n*'; find data ! -newermt '2030-01-01' -name 'p*' | sort
find data -name '*.txt' -exec wc -l {} \; | sort; find data -name '*.csv' -exec cat {} +
find data -path '*/sub/*' -prune -o -type f -print | sort
find data -type f -printf '%P %s %m %TY-%Tm-%Td\n' | sort
find data -type f -print0 | sort -z | xargs -0 md5sum
seq 1 10 | xargs -n 3 echo; seq 1 5 | xargs -I{} echo 'item {}'; echo a b c | xargs -t -n1 echo 2>&1
printf 'one\ntwo\n' | xargs -P 2 -n 1 sh -c 'echo "got $0"' | sort
find data -name 'nomatch*'; echo "find: $?"; find /nonexistent 2>&1; echo "find: $?"
xargs --version | head -1; find --version | head -1
