variable "cluster_name" {
  description = "Prefix of every node name: <cluster_name>-head, <cluster_name>-executor-<k>."
  type        = string
  default     = "harness"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.cluster_name))
    error_message = "cluster_name must start with a letter and hold only a-z, 0-9 and '-', at most 31 characters (it prefixes host names and tags)."
  }
}

variable "executors" {
  description = "Executor nodes to provision (one MPI rank each)."
  type        = number
  default     = 4

  validation {
    condition     = var.executors >= 1 && var.executors <= 64 && floor(var.executors) == var.executors
    error_message = "executors must be a whole number from 1 to 64."
  }
}

variable "slots_per_node" {
  description = "MPI slots per executor node in the hostfile; 1 = one executor per node, whose instance is its limit."
  type        = number
  default     = 1

  validation {
    condition     = var.slots_per_node >= 1 && floor(var.slots_per_node) == var.slots_per_node
    error_message = "slots_per_node must be a whole number >= 1."
  }
}

variable "executor_private_ips" {
  description = "Private IPv4 addresses of the executor nodes, in rank order; empty before they exist."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for ip in var.executor_private_ips : can(cidrhost("${ip}/32", 0))])
    error_message = "executor_private_ips must hold IPv4 addresses such as 10.0.1.17."
  }
}

variable "study_executors" {
  description = "Executor counts of the server study (the reference EMR study: 2, 4, 8, 16, 24, 32)."
  type        = list(number)
  default     = [2, 4, 8, 16, 24, 32]

  validation {
    condition     = length(var.study_executors) > 0 && alltrue([for e in var.study_executors : e >= 1])
    error_message = "study_executors must list at least one executor count, each >= 1."
  }
}
