output "head_name" {
  description = "Name of the head node (driver and mpirun)."
  value       = local.head_name
}

output "executor_names" {
  description = "Names of the executor nodes, in rank order."
  value       = local.executor_names
}

output "hostfile" {
  description = "Open MPI hostfile of the executor nodes (one line per node, rank order); empty before their addresses are known."
  value       = join("", [for l in local.hostfile_lines : "${l}\n"])

  precondition {
    condition     = length(var.executor_private_ips) == 0 || length(var.executor_private_ips) == var.executors
    error_message = "executor_private_ips must list one address per executor node (or none yet)."
  }
}

output "study_executors" {
  description = "The study's executor counts that fit the provisioned executor slots."
  value       = local.study_executors
}

output "dropped_executors" {
  description = "The study's executor counts left out because fewer executor slots were provisioned."
  value       = local.dropped_executors
}
