#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: Apache ZooKeeper 3.8 (the reference
# server for differential tests and zkCli.sh), its C client (cli_mt), and Apache Curator (with
# a JDK to compile the interop test's Java side) for recipe interop. Debian packages only; needs root or passwordless sudo when something is missing.
set -euo pipefail

need=()
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
[ -x /usr/lib/zookeeper/bin/cli_mt ] || need+=(zookeeper-bin)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
ls /usr/share/java/curator-recipes*.jar >/dev/null 2>&1 || need+=(libcurator-recipes-java)
ls /usr/share/java/curator-x-discovery*.jar >/dev/null 2>&1 || need+=(libcurator-discovery-java)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
		echo "deps: missing ${need[*]} and not root; install them with apt-get" >&2
		exit 1
	fi
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
