# xz / unxz / xzcat.
xz -T1 -c data/big.txt > big.xz && md5sum big.xz && xz -l big.xz | tail -1 && xz -t big.xz && echo tested
xz -T1 -1 -c data/big.txt | wc -c; xz -T1 -9e -c data/nums.txt | md5sum; xz -T1 --format=lzma -c data/nums.txt | md5sum
cp data/fruits.txt f.txt && xz -T1 f.txt && ls f.txt* && unxz f.txt.xz && cat f.txt | head -2
xzcat big.xz | tail -2; xz -dc big.xz | md5sum; cat big.xz big.xz | xz -dc | wc -l
echo corrupt | xz -dc 2>&1; echo "status: $?"; xz --robot --info-memory | cut -f1 | head -0; xz --version | head -1
