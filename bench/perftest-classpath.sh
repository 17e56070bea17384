#!/usr/bin/env bash
# Prints the classpath of RabbitMQ PerfTest (com.rabbitmq:perf-test, main class
# com.rabbitmq.perf.PerfTest), the broker baseline of `bench/run fanout`, resolving it from Maven
# Central with the project's Maven wrapper on first use. PerfTest is not a dependency of Quarry:
# a throw-away POM under target/ names it, so pom.xml stays as it is and PerfTest's own
# dependencies (another amqp-client, micrometer, logback) never meet Quarry's on one classpath.
#
#   bench/perftest-classpath.sh            the classpath, one line (cached in target/)
#   PERFTEST_VERSION=2.22.1                the version (2.23.0 is not on Maven Central)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${PERFTEST_VERSION:-2.22.1}
dir="$root/target/bench-perftest"
out="$dir/perftest-$version.classpath"

if [ ! -s "$out" ]; then
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.quarry.bench</groupId>
  <artifactId>perftest-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>com.rabbitmq</groupId>
      <artifactId>perf-test</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  echo "bench: resolving RabbitMQ PerfTest $version ..." >&2
  "$root/mvnw" -q -f "$dir/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$out.tmp" -Dmdep.includeScope=runtime >&2
  jar=$(tr ':' '\n' <"$out.tmp" | grep "perf-test-$version.jar" || true)
  if [ -z "$jar" ]; then
    echo "bench: PerfTest $version did not resolve" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
fi
cat "$out"
