# gzip / gunzip / zcat.
gzip -c data/big.txt > big.gz && md5sum big.gz && gzip -l big.gz && gzip -t big.gz && echo tested
gzip -n -9 -c data/big.txt | md5sum; gzip -1 -n -c data/big.txt | wc -c; gzip -n -c data/nums.txt | od -An -tx1 | head -2
cp data/fruits.txt f.txt && gzip f.txt && ls f.txt* && gunzip f.txt.gz && cat f.txt | head -2
zcat big.gz | tail -2; gzip -dc big.gz | md5sum; cat big.gz big.gz | gunzip | wc -l
gzip -c data/nums.txt | gzip -d -c -; echo corrupt | gunzip 2>&1; echo "status: $?"
gzip -k data/sub/one.txt && ls data/sub | sort; gzip -v -c data/big.txt 2>&1 >/dev/null | sed 's/.*%/%/' ; gzip --version | head -1
