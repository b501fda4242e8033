# tar: create, list, extract; with gzip and xz; reproducible archives.
tar cf plain.tar data && tar tf plain.tar | sort && tar tvf plain.tar --numeric-owner | sort -k6 | head -5
mkdir x1 && tar xf plain.tar -C x1 && find x1 | sort | head -8 && cmp -s data/big.txt x1/data/big.txt 2>/dev/null; md5sum x1/data/big.txt x1/data/sub/part.bin
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -cf - data | md5sum
tar czf a.tgz data && tar tzf a.tgz | sort | tail -3 && mkdir x2 && tar xzf a.tgz -C x2 && md5sum x2/data/*.txt
tar cJf a.txz data && tar tJf a.txz | wc -l && mkdir x3 && tar xJf a.txz -C x3 data/fruits.txt && cat x3/data/fruits.txt | head -2
tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner data | xz -T1 -c | xz -d | md5sum
tar xvzf a.tgz -C x2 data/nums.txt; stat -c '%a %y' x2/data/run.sh x2/data/people.csv
tar cf - data/sub | tar tvf - --numeric-owner | awk '{ print $1, $3, $6 }' | sort -k3
tar rf plain.tar setup-marker 2>&1; echo "append missing: $?"; tar --version | head -1
tar xf nonexistent.tar 2>&1; echo "status: $?"
