# coreutils on files: ls (colours), cp -a, mv, ln, stat, du, chmod, touch, dd, truncate, install.
ls --color=always data
ls -la --color=always --time-style=+%F data | grep -v ' \.\.\?$' | sed 's/^\(d[^ ]*\) *[0-9]* root root *[0-9]*/\1 N root root SIZE/'
ls -1F data; ls -R data/sub
cp -a data copy && ls -l --time-style=full-iso copy/run.sh copy/people.csv copy/link-to-fruits
stat -c '%n|%s|%a|%A|%F|%U|%G|%h|%y' data/fruits.txt copy/fruits.txt data/link-to-fruits copy/sub/big-link
stat -L -c '%n %s' data/link-to-fruits; readlink data/sub/big-link; readlink -f data/sub/big-link | sed "s|$PWD|PWD|"
mv copy/fruits.txt copy/moved.txt && ls copy | head -3
ln copy/moved.txt copy/hard && stat -c '%h' copy/moved.txt
ln -s moved.txt copy/soft && cat copy/soft | head -2
chmod 600 copy/moved.txt && stat -c %a copy/moved.txt; chmod u+x,g+r copy/moved.txt && stat -c %a copy/moved.txt
touch -d '2001-02-03 04:05:06' copy/moved.txt && stat -c %Y copy/moved.txt && date -u -r copy/moved.txt
du -ab data | sort -k2 | grep -v '/\(sub\|deep\|empty\)$' | grep -v 'data$'
du -b data/big.txt; du -k data/big.txt; du -sh --apparent-size data/big.txt
dd if=data/big.txt of=dd.out bs=1000 count=3 skip=1 status=none && wc -c dd.out && md5sum dd.out
truncate -s 5000 dd.out && stat -c %s dd.out && truncate -s -1000 dd.out && stat -c %s dd.out
install -m 750 -D data/run.sh inst/bin/run && stat -c '%a %n' inst/bin/run && inst/bin/run
mkdir -p a/b/c && rmdir -p a/b/c && ls a 2>&1
rm -r copy && ls copy 2>&1; echo "ls status: $?"
mktemp -d -p . | grep -c 'tmp\.'
df -P . >/dev/null && echo "df ok"
pwd | sed "s|$PWD|PWD|"; realpath --relative-to=data/sub data/fruits.txt
basename /a/b/c.txt .txt; dirname /a/b/c.txt
sync && echo synced
