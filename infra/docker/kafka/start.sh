#!/bin/bash
# Kafka in compose, configured like the native broker (infra/native/kafka-server.properties):
# SASL/SCRAM-SHA-512 on the broker listeners, SASL/PLAIN on the controller listener, ACLs with
# admin as the only super user, every principal's SCRAM credential added when the storage is
# first formatted. Listeners: INTERNAL (kafka:9092, the other containers), HOST (the published
# 127.0.0.1:29092), CONTROLLER (kafka:9093, inside only).
# The HA variant (infra/docker-compose.ha.yml) runs three of these, `kafka`, `kafka-2` and
# `kafka-3`, with KAFKA_NODES=3: one quorum, replication factor 3, min.insync.replicas 2, each
# node's HOST port 10 above the previous one's, as natively.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}"
node="${KAFKA_NODE_ID:-1}"
nodes="${KAFKA_NODES:-1}"
name() { if [ "$1" = 1 ]; then echo kafka; else echo "kafka-$1"; fi; }
voters=""
for i in $(seq 1 "$nodes"); do voters="${voters:+$voters,}$i@$(name "$i"):9093"; done
host_port=$((29092 + (node - 1) * 10))
replicas="$nodes"
min_isr=$(( nodes >= 3 ? 2 : 1 ))
conf=/tmp/server.properties
cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=${node}
controller.quorum.voters=${voters}
listeners=INTERNAL://:9092,HOST://:${host_port},CONTROLLER://:9093
advertised.listeners=INTERNAL://$(name "$node"):9092,HOST://127.0.0.1:${host_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,HOST:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
listener.name.host.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}" user_admin="${KAFKA_ADMIN_PASSWORD}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
log.dirs=/var/lib/kafka/data
auto.create.topics.enable=false
num.partitions=6
default.replication.factor=${replicas}
min.insync.replicas=${min_isr}
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${min_isr}
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${min_isr}
group.initial.rebalance.delay.ms=0
broker.session.timeout.ms=$(( nodes >= 3 ? 2000 : 9000 ))
broker.heartbeat.interval.ms=$(( nodes >= 3 ? 250 : 2000 ))
log.retention.hours=168
log.retention.bytes=-1
log.segment.bytes=268435456
log.retention.check.interval.ms=300000
message.max.bytes=1048588
PROPS
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  scram=()
  for principal in admin generator db-sink lake-sink flink feast-ingestor detector monitor; do
    var="KAFKA_$(echo "$principal" | tr 'a-z-' 'A-Z_')_PASSWORD"
    scram+=(--add-scram "SCRAM-SHA-512=[name=${principal},password=${!var:?$var is not set}]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$CLUSTER_ID" -c "$conf" "${scram[@]}"
fi
# the healthcheck's client: admin over the in-container listener
cat > /tmp/admin-client.properties <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
PROPS
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
