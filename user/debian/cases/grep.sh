# grep: basic, -E, -P, -r, counts, context, colour.
grep apple data/fruits.txt; grep -c '^' data/big.txt; grep -n -i error data/log.txt
grep -E '^(apple|fig) [0-9]+$' data/fruits.txt; grep -E 'o{2}|z{2}' data/log.txt; grep -v -e a -e e data/fruits.txt
grep -o '[0-9]\+' data/log.txt; grep -w 'fox' data/log.txt; grep -x 'fig 12' data/fruits.txt
grep -r 'line' data | sort | head -5; grep -rl 'deep' data; grep -rc 'o' data --include='*.txt' | sort
grep -A1 -B1 'disk' data/log.txt; grep -m2 'line 1' data/big.txt
grep -P '\d{3}$' data/big.txt | head -3; grep -P '(?<=quick )\w+' -o data/log.txt
grep --color=always -E 'fox|dog' data/log.txt; grep -q nomatch data/log.txt; echo "q: $?"
grep -h . data/sub/*.txt; grep -H -s x data/nonexistent data/fruits.txt; echo "status: $?"
printf 'a.b\naxb\n' | grep -F 'a.b'; grep -z -c . data/nums.txt
grep -E 'line (1|2)[0-9]{3}:' data/big.txt | wc -l
