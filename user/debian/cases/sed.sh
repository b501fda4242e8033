# sed: substitutions, addresses, in-place editing, hold space, scripts.
sed 's/a/A/g' data/fruits.txt; sed -n '2,4p' data/fruits.txt; sed '/apple/d' data/fruits.txt
sed -E 's/^([a-z]+) ([0-9]+)$/\2:\1/' data/fruits.txt; sed -n '$=' data/big.txt
sed -e '1i\first' -e '$a\last' data/nums.txt | head -3; sed '3c\changed' data/nums.txt | head -4
sed 'y/abc/XYZ/' data/fruits.txt | head -2; sed -n '/banana/,/date/p' data/fruits.txt
cp data/fruits.txt f && sed -i.bak 's/[0-9]\+/N/' f && cat f && cat f.bak | head -1
sed -n 'h;n;G;p' data/nums.txt; sed '1!G;h;$!d' data/nums.txt | head -3
sed = data/people.csv | sed 'N;s/\n/ /'; sed 's/\(.*\)/[\1]/w out.txt' data/nums.txt > /dev/null; cat out.txt | head -2
printf 's/fox/cat/\ns/dog/mouse/\n' > script.sed; sed -f script.sed data/log.txt | head -2
sed -s -n '1F;1p' data/fruits.txt data/nums.txt; sed 's/e/E/2' data/log.txt | head -1; sed --debug -n 1p data/nums.txt | head -3
sed -z 's/\n/,/g' data/nums.txt; echo; printf 'tab\there\n' | sed -n 'l'
sed -n '/^line 1999/{s/line/LINE/;p;q}' data/big.txt; echo x | sed 's/x/&&/; s/xx/y/'
