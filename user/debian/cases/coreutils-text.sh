# coreutils on text: sort, uniq, wc, head, tail, cut, tr, paste, join, seq, checksums, date...
sort data/fruits.txt; sort -k2,2n -k1,1r data/fruits.txt; sort -n data/nums.txt | tr '\n' ' '; echo
sort -u -t' ' -k1,1 data/fruits.txt; sort -rn data/nums.txt | head -3
cut -d' ' -f1 data/fruits.txt | sort | uniq -c
wc data/fruits.txt data/big.txt; wc -l < data/big.txt; wc -w data/log.txt; wc -m -L data/people.csv
head -n 3 data/big.txt; head -c 20 data/big.txt; echo; tail -n 2 data/big.txt; tail -c 30 data/big.txt; tail -n +1998 data/big.txt
cut -d, -f2,3 data/people.csv; cut -c1-5 data/log.txt
tr 'a-z' 'A-Z' < data/fruits.txt | head -2; tr -d '0-9\n' < data/nums.txt; echo; tr -s ' ' < data/log.txt | head -1
seq 1 9 > s9; paste -d: data/nums.txt s9 | head -4; paste -s -d+ data/nums.txt | tr -d '\n'; echo
sort data/fruits.txt > sf; printf 'apple red\nbanana yellow\nfig purple\n' > colours; join sf colours
printf 'a\nb\nc\n' > c1; printf 'b\nc\nd\n' > c2; comm -3 c1 c2
seq 5; seq 0 0.5 2; seq -w 8 11; seq -s, 1 5
md5sum data/*.txt; sha1sum data/fruits.txt; sha256sum data/big.txt; sha512sum data/nums.txt | cut -c1-40
b2sum data/nums.txt | cut -c1-32; cksum data/big.txt; sum data/big.txt
base64 data/fruits.txt | head -2; base64 data/fruits.txt | base64 -d | md5sum
od -c data/nums.txt | head -3; od -An -tx1 -N16 data/big.txt
date -d @0 -u; date -u -d '2024-02-29 13:14:15' '+%s %A %j %U %Z'; date -u -d @1700000000 -R; date -u -d '2024-01-31 + 1 month' +%F
nl data/fruits.txt | head -3; fold -w 10 data/log.txt | head -3; printf 'a\tb\tc\n' | expand -t 4; tac data/nums.txt | head -2
printf '%s %5.2f %x %o %e %c\n' word 3.14159 255 8 12345.678 xyz
expr 7 \* 6; expr length hello; factor 360 1001 65537; numfmt --to=iec 1048576 123456789
split -l 700 data/big.txt part- && wc -l part-*; csplit -s data/fruits.txt 3 && wc -l xx*
echo "abc" | rev 2>/dev/null; printf 'b\na\nb\n' | sort | uniq -d; shuf -i 1-5 --random-source=data/big.txt | sort
env | sort | grep -v '^_='; id -u; id -un; whoami; uname -s -m; nproc | grep -c .; test 3 -gt 2 && echo test-ok
yes hi | head -3; true; false; echo "false: $?"; printenv HOME; tty; echo "tty: $?"
stty -a < /dev/null 2>/dev/null; echo "stty: $?"
