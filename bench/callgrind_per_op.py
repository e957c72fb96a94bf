#!/usr/bin/env python3
"""Instructions per operation, per function, from a callgrind profile.

    valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        build-bench/bench/runtime_bench --benchmark_filter='BM_YieldRoundTrip/policy:1' \\
        --benchmark_min_time=0.5
    bench/callgrind_per_op.py cg.out 'Processer::SwapIn'

The second argument is a regular expression naming the function whose call
count is "one operation" (SwapIn: one yield, i.e. half a yield round trip;
'^co::detail::wake\\(' : one channel hand-off; '^co::detail::task_main' : one
spawned task). Each function's self cost (Ir, instructions executed) is
divided by that count. Start-up (dynamic linking, the benchmark library) is
included in the total, so run long enough (--benchmark_min_time=0.5) that it
is small next to the measured loop.
"""
import collections
import re
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, denom_re = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    names = {}
    calls = collections.Counter()
    self_ir = collections.Counter()
    fn = callee = None
    skip_next_cost = False

    def resolve(tok):
        # Callgrind name compression: "(id) name" defines, "(id)" refers.
        m = re.match(r"\((\d+)\)(?: (.*))?", tok)
        if not m:
            return tok
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), m.group(1))

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                fn = resolve(line[3:])
            elif line.startswith("cfn="):
                callee = resolve(line[4:])
            elif line.startswith("calls="):
                calls[callee] += int(line[6:].split()[0])
                skip_next_cost = True  # the next cost line is the call's inclusive cost
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                if skip_next_cost:
                    skip_next_cost = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    self_ir[fn] += int(parts[1])

    ops = sum(n for name, n in calls.items() if re.search(denom_re, name))
    if ops == 0:
        sys.exit(f"no calls to a function matching /{denom_re}/")
    total = sum(self_ir.values())
    print(f"operations (calls to /{denom_re}/): {ops}")
    print(f"total: {total} Ir = {total / ops:.1f} Ir/op (start-up included)\n")
    print(f"{'Ir/op':>8}  {'calls':>9}  function")
    for name, ir in self_ir.most_common(top):
        if ir / ops < 0.5:
            break
        short = name.replace("(anonymous namespace)::", "")
        if "ClosureFor" not in short:
            short = re.sub(r"\(.*", "", short)
        print(f"{ir / ops:8.1f}  {calls.get(name, 0):9d}  {short[:100]}")


if __name__ == "__main__":
    main()
