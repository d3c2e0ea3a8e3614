variable "region" {
  description = "AWS region of the cluster and its bucket."
  type        = string
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "Prefix of every resource name and of the node names (<cluster_name>-head, <cluster_name>-executor-<k>)."
  type        = string
  default     = "harness"
}

variable "executors" {
  description = "Executor nodes (one MPI rank each). The server study's executor counts above this are left out (output dropped_executors)."
  type        = number
  default     = 4
}

variable "instance_type" {
  description = "Instance type of every executor node; it is the executor's limit. m5.large = 2 vCPU, 8 GiB: the server study's executor shape (2 cores, 8g)."
  type        = string
  default     = "m5.large"
}

variable "head_instance_type" {
  description = "Instance type of the head node (driver and mpirun; it trains nothing)."
  type        = string
  default     = "m5.large"
}

variable "admin_cidr" {
  description = "The only source address range allowed to ssh into the head, e.g. 203.0.113.7/32 (your address). 0.0.0.0/0 is refused."
  type        = string

  validation {
    condition     = can(cidrhost(var.admin_cidr, 0)) && var.admin_cidr != "0.0.0.0/0"
    error_message = "admin_cidr must be a CIDR block such as 203.0.113.7/32, and not 0.0.0.0/0."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key (the text of ~/.ssh/id_ed25519.pub) that may log into every node as ssh_user."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ", var.ssh_public_key))
    error_message = "ssh_public_key must be an OpenSSH public key line (ssh-ed25519 AAAA…, ssh-rsa …)."
  }
}

variable "ami_id" {
  description = "AMI of every node; null = the newest official Debian 12 amd64 AMI (the harness binary is built on Debian 12)."
  type        = string
  default     = null
}

variable "ssh_user" {
  description = "Login user of the AMI (admin on Debian's official AMIs)."
  type        = string
  default     = "admin"
}

variable "subnet_id" {
  description = "An existing subnet (with a route to the internet) to place the nodes in; null = create a VPC and a subnet."
  type        = string
  default     = null
}

variable "availability_zone" {
  description = "Availability zone of the subnet created when subnet_id is null (all nodes in one zone: Open MPI traffic stays inside it); null = AWS chooses."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "Address range of the VPC created when subnet_id is null."
  type        = string
  default     = "10.42.0.0/16"
}

variable "bucket_name" {
  description = "An existing S3 bucket for data and results; null = create one named <cluster_name>-<account>-<region>."
  type        = string
  default     = null
}

variable "root_volume_gb" {
  description = "Size of every node's encrypted root volume, GiB (data shards are streamed from S3, not stored)."
  type        = number
  default     = 30
}
