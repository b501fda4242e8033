# gawk: fields, patterns, arrays, functions, printf, maths, strings, time.
awk '{ s += $2 } END { print "sum", s, "lines", NR }' data/fruits.txt
awk -F, 'NR > 1 { print $2 " lives in " $3 }' data/people.csv
awk '$2 > 10 { print toupper($1), $2 * 2 }' data/fruits.txt
awk '{ c[$1] += $2 } END { PROCINFO["sorted_in"] = "@ind_str_asc"; for (k in c) printf "%-12s%5d\n", k, c[k] }' data/fruits.txt
awk 'function fib(n) { return n < 2 ? n : fib(n-1) + fib(n-2) } BEGIN { for (i = 0; i < 15; i++) printf "%d ", fib(i); print "" }'
awk 'BEGIN { printf "%.6f %.6f %.6f %d %s\n", sin(1), exp(2), sqrt(2), int(-3.7), 2^53 + 1 }'
awk 'BEGIN { s = "Hello, World"; gsub(/o/, "0", s); print s, length(s), index(s, "W"), substr(s, 3, 4); n = split("a:b:c", p, ":"); print n, p[3] }'
awk 'BEGIN { print gensub(/([a-z]+)-([0-9]+)/, "\\2=\\1", "g", "abc-1 def-22"); print sprintf("%05.1f|%-4s|%c", 3.14159, "x", 65) }'
awk 'BEGIN { print strftime("%Y-%m-%d %H:%M:%S", 0, 1); print mktime("2024 01 02 03 04 05") > 0 }'
awk -v n=3 'NR % n == 0' data/nums.txt; awk 'END { print $0 }' data/big.txt; awk 'NF { print NF }' data/log.txt | tr '\n' ' '; echo
awk '/ERROR/,/warning/ { print "range:", $0 }' data/log.txt; awk 'BEGIN { while ((getline line < "data/nums.txt") > 0) t += line; print "getline total", t }'
awk 'BEGIN { "echo from-a-command" | getline x; print x; print "to sort" | "sort"; close("sort"); system("echo system ran") }'
awk 'BEGIN { x["a"]; delete x["a"]; print length(x); print 1e300 * 1e300, -log(0), 0.1 + 0.2 }'
awk -M 'BEGIN { print 2^100 }' 2>&1; awk --version | head -1
awk 'BEGIN { OFS = "-" } { $1 = $1; print }' data/log.txt | head -2; echo "a b c" | awk '{ $5 = "e"; print; print NF }'
awk 'BEGIN { srand(42); r = rand(); print (r >= 0 && r < 1) }'; awk 'BEGIN { print systime() > 1700000000 }'
