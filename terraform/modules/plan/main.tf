# Provider-free planning of a scaling-harness cluster: node names, the Open MPI hostfile, and the
# server study's executor counts restricted to the executor nodes provisioned. It needs no cloud
# (no provider, no resources), so `terraform test` checks it offline; the AWS root module
# (terraform/) uses it for its Name tags and outputs.
#
# One executor per node (`slots=1`), as on the compose cluster: a node's instance type is the
# executor's limit (cores, memory), and the executors measure what they really get.

terraform {
  required_version = ">= 1.6"
}

locals {
  head_name      = "${var.cluster_name}-head"
  executor_names = [for i in range(var.executors) : format("%s-executor-%d", var.cluster_name, i + 1)]

  # Open MPI hostfile lines, rank i on executor node i (empty until addresses are known).
  hostfile_lines = [for ip in var.executor_private_ips : "${ip} slots=${var.slots_per_node}"]

  # Executor counts of the study that fit the executor nodes, and those that do not.
  study_executors   = [for e in var.study_executors : e if e <= var.executors * var.slots_per_node]
  dropped_executors = [for e in var.study_executors : e if e > var.executors * var.slots_per_node]
}
