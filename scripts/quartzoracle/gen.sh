#!/usr/bin/env bash
# gen.sh compiles QuartzOracle.java against real Quartz 2.3.2 and writes its answers to
# shared/cron/testdata/quartz_vectors.jsonl, the vectors TestQuartzVectors checks the engine
# against. Needs a JDK (javac, java 17) and Debian's libquartz2-java and libslf4j-java
# (or QUARTZ_JAR and SLF4J_JAR naming the jars). Run from anywhere: make cron-vectors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quartz=${QUARTZ_JAR:-/usr/share/java/quartz2.jar}
slf4j=${SLF4J_JAR:-/usr/share/java/slf4j-api.jar}
out=$root/shared/cron/testdata/quartz_vectors.jsonl

for jar in "$quartz" "$slf4j"; do
	[ -r "$jar" ] || { echo "gen.sh: $jar not found (apt-get install libquartz2-java libslf4j-java)" >&2; exit 1; }
done

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# -XDignore.symbol.file: QuartzOracle uses sun.misc.Unsafe to move Quartz's MAX_YEAR in
# its second run; without the flag javac warns about it.
javac -nowarn -XDignore.symbol.file -encoding UTF-8 -cp "$quartz" -d "$build" "$here/QuartzOracle.java"
# A fixed locale and default zone: Quartz reads both (its "W" rules use a Calendar of the
# default locale).
java -Duser.language=en -Duser.country=US -Duser.timezone=UTC \
	-cp "$build:$quartz:$slf4j" QuartzOracle >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -l <"$out") lines)" >&2
