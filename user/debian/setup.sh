# setup.sh: the fixed input files of every case (run by run.sh in the case's scratch directory).
set -e
mkdir -p data/sub/deep data/empty
printf 'apple 3\nbanana 12\ncherry 7\napple 5\ndate 1\nelderberry 30\nfig 12\n' > data/fruits.txt
printf '%s\n' 42 7 -3 100 7 0 15 99 2 > data/nums.txt
printf 'id,name,city\n1,Ada,London\n2,Linus,Helsinki\n3,Grace,New York\n4,Ken,Murray Hill\n' > data/people.csv
printf 'The quick brown fox\njumps over the lazy dog.\nERROR: disk full\nwarning: low memory\nerror: retry 3\n' > data/log.txt
printf 'deep file\n' > data/sub/deep/deep.txt
printf 'sub one\nline two\n' > data/sub/one.txt
printf 'hidden\n' > data/.hidden
printf 'spaces in the name\n' > 'data/with space.txt'
for i in $(seq 1 2000); do echo "line $i of the big file: $((i * i % 997))"; done > data/big.txt
head -c 3000 data/big.txt > data/sub/part.bin
printf '#!/bin/sh\necho script ran\n' > data/run.sh
chmod 755 data/run.sh
chmod 640 data/people.csv
ln -s fruits.txt data/link-to-fruits
ln -s ../big.txt data/sub/big-link
find data -exec touch -h -d '2024-01-02 03:04:05' {} +
