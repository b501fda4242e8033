# bash: process substitution (the command reads /dev/fd/63, a pipe, through /proc/self/fd).
paste <(printf 'a\nb\n') <(printf 'c\nd\n'); echo "paste: $?"
echo "procsub:" $(cat <(echo inside))
tee >(tr a-z A-Z > upper.txt) < data/fruits.txt | head -2; sleep 0.2; head -2 upper.txt
cat /dev/stdin <<< "through /dev/stdin"
echo "to /dev/stderr" >> /dev/stderr
