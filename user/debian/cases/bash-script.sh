# bash: functions, arrays, pipes, subshells, here-docs, arithmetic, expansions.
greet() { local who=${1:-world}; printf 'hello, %s\n' "$who"; return 3; }
greet; echo "status $?"; greet Exo
fact() { (( $1 <= 1 )) && { echo 1; return; }; echo $(( $1 * $(fact $(( $1 - 1 ))) )); }
echo "10! = $(fact 10)"
a=(zero one two "three four"); a+=(five)
echo "${#a[@]} ${a[3]} ${a[@]:1:2} ${!a[*]}"
declare -A m=([k1]=v1 [k2]=v2); m[k3]=v3
for k in $(printf '%s\n' "${!m[@]}" | sort); do echo "$k=${m[$k]}"; done
s="Hello, Exo-OS world"
echo "${s^^} ${s,,} ${s/world/planet} ${s#*, } ${s%% *} ${#s} ${s:7:6}"
x=5; (( x += 10, x *= 2 )); echo "x=$x $((2**20)) $((17 % 5)) $((0x1f)) $((7 / 2))"
printf -v p '%05d|%-6s|%x|%q' 42 ab 255 'a b$c'; echo "$p"
echo "pipe:" $(seq 1 10 | grep -v 5 | tr '\n' ' ')
v=outer; (v=inner; echo "subshell sees $v"; exit 4); echo "after subshell: v=$v status=$?"
{ echo group1; echo group2; } | sed 's/^/> /'
cat <<EOT
here-doc with $v and $((6 * 7))
	tab kept
EOT
cat <<'EOT'
quoted here-doc: $v $(not run)
EOT
cat <<-EOT
	dash here-doc strips tabs
	EOT
read -r first rest <<< "one two three"; echo "first=$first rest=$rest"
mapfile -t lines < data/fruits.txt
echo "mapfile: ${#lines[@]} ${lines[2]}"
[[ "abc123" =~ ^([a-z]+)([0-9]+)$ ]] && echo "regex: ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
shopt -s extglob; f=xxyyzz; echo "extglob: ${f//+(y)/-}"
case "file.tar.gz" in *.tar.@(gz|xz)) echo "case: tarball";; *) echo "case: other";; esac
set -o pipefail; false | true; echo "pipefail: $?"; set +o pipefail
trap 'echo "trap on EXIT"' EXIT
i=0; while (( i < 3 )); do ((i++)); [[ $i == 2 ]] && continue; echo "loop $i"; done
until [[ $i -le 0 ]]; do i=$((i-1)); done; echo "until done $i"
echo "brace: "{a,b}{1,2} {1..5..2}
var=value; echo "${var@Q} ${var@U} ${unset_var:-default} ${unset_var:+alt}"
declare -i n=7*6; echo "declare -i: $n"
declare -p a | head -c 60; echo
echo "BASH major: ${BASH_VERSINFO[0]}"
type greet | head -1; type -t ls; command -v cat
