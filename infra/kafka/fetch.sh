#!/usr/bin/env bash
# Fetches the Apache Kafka broker jars into infra/kafka/.cache/libs (idempotent).
# Primary path: Maven Central through `mvn dependency:copy-dependencies` on pom.xml.
# Fallback (no mvn on PATH): the official Apache Kafka release archive, which needs curl
# and network access to the Apache download mirrors.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
libs="$here/.cache/libs"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
if ls "$libs"/kafka_2.13-"$version".jar >/dev/null 2>&1; then
  echo "kafka $version jars already in $libs"
  exit 0
fi
mkdir -p "$libs"
if command -v mvn >/dev/null 2>&1; then
  echo "fetching kafka $version jars from Maven Central (mvn)..."
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime
else
  url="https://archive.apache.org/dist/kafka/$version/kafka_2.13-$version.tgz"
  if ! command -v curl >/dev/null 2>&1; then
    echo "error: neither Maven (mvn) nor curl is installed; install Maven (apt-get install maven)" >&2
    echo "       or download $url and unpack its libs/ into $libs" >&2
    exit 2
  fi
  echo "mvn not found: falling back to the Apache release archive $url"
  tmp="$(mktemp -d)"
  curl -fsSL "$url" -o "$tmp/kafka.tgz" || {
    echo "error: could not download $url (needs network access to archive.apache.org)." >&2
    echo "       Install Maven instead (apt-get install maven) to fetch from Maven Central." >&2
    exit 2
  }
  tar -xzf "$tmp/kafka.tgz" -C "$tmp"
  cp "$tmp"/kafka_2.13-"$version"/libs/*.jar "$libs"/
  rm -rf "$tmp"
fi
echo "kafka $version jars in $libs"
