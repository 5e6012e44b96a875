# bench/lib.sh: the harness shared by the bench/*/run scripts that compare
# servers under wrk (sourced, not run). It pins the servers under test and
# the client apart, runs wrk while reading the server's own CPU time from
# /proc, and prints medians, ranges and ratios over interleaved rounds.
#
# Scripts set DUR, ROUNDS and CONN, call bench_pin, start each server
# under "${SRV[@]}" and record its pid in pid_of[NAME], then fill
# res[TEST.NAME.ROUND] with bench_wrk and print with bench_row and
# bench_ratios.

# bench_pin sets SRV and CLI (command prefixes), WORKERS (nginx workers and
# GOMAXPROCS for the servers under test) and THREADS (wrk's), and exports
# GOMAXPROCS. With PIN=1 (the default on 2+ cores) every server under test
# runs on $SERVER_CPUS (default the last core) and the client side on
# $CLIENT_CPUS (the others); PIN=0 leaves placement to the kernel.
bench_pin() {
	NCPU=$(nproc)
	PIN=${PIN:-$([ "$NCPU" -ge 2 ] && echo 1 || echo 0)}
	if [ "$PIN" = 1 ]; then
		SERVER_CPUS=${SERVER_CPUS:-$((NCPU - 1))}
		CLIENT_CPUS=${CLIENT_CPUS:-0-$((NCPU - 2))}
		SRV=(taskset -c "$SERVER_CPUS")
		CLI=(taskset -c "$CLIENT_CPUS")
		WORKERS=$(taskset -c "$SERVER_CPUS" nproc)
		THREADS=${THREADS:-$(taskset -c "$CLIENT_CPUS" nproc)}
	else
		SRV=()
		CLI=()
		WORKERS=$NCPU
		THREADS=${THREADS:-2}
	fi
	export GOMAXPROCS=$WORKERS
}

# bench_pinning [OTHER] says how the servers and the client (wrk and
# OTHER) were placed.
bench_pinning() {
	if [ "$PIN" = 1 ]; then
		echo "pinned: servers on CPU $SERVER_CPUS (nginx $WORKERS worker, GOMAXPROCS=$WORKERS), wrk${1:+ and $1} on CPU $CLIENT_CPUS"
	else
		echo "not pinned: nginx $WORKERS workers, GOMAXPROCS=$WORKERS, wrk beside them"
	fi
}

# bench_ticks prints the CPU time (user + system, in clock ticks) of a
# process and its children (nginx's workers).
bench_ticks() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# bench_wrk PID URL prints "req/s p99_ms cpu% us/req bytes/req" for one wrk
# run against the server whose process is PID: its own CPU time during
# the run, as a share of one CPU and per request (on a shared machine
# req/s moves with the neighbours, CPU time per request much less), and
# the bytes of one response, headers included. Non-2xx answers are errors
# unless WRK_STATUS=any.
bench_wrk() {
	local t0 t1 w0 w1 out hz
	hz=$(getconf CLK_TCK)
	t0=$(bench_ticks "$1") w0=$(date +%s.%N)
	out=$("${CLI[@]}" wrk -t"$THREADS" -c"$CONN" -d"$DUR" --latency -H 'Host: localhost' "$2" | awk -v any="${WRK_STATUS:-}" '
		function bytes(v) { if (v ~ /KB$/) return v * 1024; if (v ~ /MB$/) return v * 1048576; if (v ~ /GB$/) return v * 1073741824; return v + 0 }
		/Non-2xx/ && any != "any" { bad = $NF }
		/Socket errors/ { bad = "socket errors" }
		/^ +99%/ { v = $2; if (v ~ /us$/) ms = v / 1000; else if (v ~ /ms$/) ms = v + 0; else ms = v * 1000 }
		/^Requests\/sec/ { rps = $2 }
		/^Transfer\/sec/ { bps = bytes($2) }
		END { if (bad != "") print "ERR " bad > "/dev/stderr"; printf "%.0f %.2f %.0f\n", rps, ms, (rps > 0 ? bps / rps : 0) }')
	t1=$(bench_ticks "$1") w1=$(date +%s.%N)
	echo "$out" | awk -v dt="$((t1 - t0))" -v hz="$hz" -v w0="$w0" -v w1="$w1" '
		{ cpu = dt / hz; w = w1 - w0; us = 0; if ($1 > 0) us = 1e6 * cpu / ($1 * w); printf "%s %s %.0f %.1f %s\n", $1, $2, 100 * cpu / w, us, $3 }'
}

# bench_median prints the middle of its arguments (the lower middle for an
# even count).
bench_median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# bench_field KEY F prints field F of res[KEY].
bench_field() { echo "${res[$1]}" | awk -v f="$2" '{ print $f }'; }

# bench_header prints the heading of bench_row's table.
bench_header() {
	printf '%-7s %-9s %9s %15s %8s %6s %10s %9s\n' test server 'req/s' 'range' 'p99 ms' 'cpu' 'cpu us/req' 'bytes/req'
}

# bench_row TEST SERVER prints the server's median round (req/s, its p99
# and CPU share), the req/s range, and the median CPU per request.
bench_row() {
	local vals=() us=() round med mr lo hi
	for round in $(seq "$ROUNDS"); do
		vals+=("$(bench_field "$1.$2.$round" 1)")
		us+=("$(bench_field "$1.$2.$round" 4)")
	done
	med=$(bench_median "${vals[@]}")
	for round in $(seq "$ROUNDS"); do [ "$(bench_field "$1.$2.$round" 1)" = "$med" ] && { mr=$round; break; }; done
	lo=$(printf '%s\n' "${vals[@]}" | sort -g | head -1)
	hi=$(printf '%s\n' "${vals[@]}" | sort -g | tail -1)
	printf '%-7s %-9s %9s %15s %8s %5s%% %10s %9s\n' "$1" "$2" "$med" "$lo-$hi" \
		"$(bench_field "$1.$2.$mr" 2)" "$(bench_field "$1.$2.$mr" 3)" "$(bench_median "${us[@]}")" "$(bench_field "$1.$2.$mr" 5)"
}

# bench_ratios TEST A B F prints "median (min-max)" of the per-round ratios
# of field F of server A to B: F=1 req/s (A/B), F=4 CPU per request (B/A,
# so that above 1 is A doing better in both). Rounds are close in time, so a
# neighbour's burst shifts both sides of a ratio less than the figures.
bench_ratios() {
	local rs=() a b t round
	for round in $(seq "$ROUNDS"); do
		a=$(bench_field "$1.$2.$round" "$4") b=$(bench_field "$1.$3.$round" "$4")
		[ "$4" = 4 ] && { t=$a; a=$b b=$t; }
		rs+=("$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }')")
	done
	echo "$(bench_median "${rs[@]}")x ($(printf '%s\n' "${rs[@]}" | sort -g | head -1)-$(printf '%s\n' "${rs[@]}" | sort -g | tail -1))"
}
