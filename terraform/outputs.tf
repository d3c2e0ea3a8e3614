# What `harness server` reads (`terraform -chdir=terraform output -json`): where the head is, the
# executors' addresses in rank order, the login user, the bucket and its region.

output "head_public_ip" {
  description = "Public address of the head node (ssh from admin_cidr)."
  value       = aws_instance.head.public_ip
}

output "head_private_ip" {
  description = "Private address of the head node inside the cluster."
  value       = aws_instance.head.private_ip
}

output "executor_private_ips" {
  description = "Private addresses of the executor nodes, in rank order (rank i on executor i+1)."
  value       = aws_instance.executor[*].private_ip
}

output "ssh_user" {
  description = "Login user on every node."
  value       = var.ssh_user
}

output "bucket" {
  description = "S3 bucket of data (s3://<bucket>/data/…) and results (s3://<bucket>/results/…)."
  value       = local.bucket
}

output "region" {
  description = "AWS region of the nodes and the bucket."
  value       = var.region
}

output "hostfile" {
  description = "Open MPI hostfile of the executor nodes (one executor per node)."
  value       = module.plan.hostfile
}

output "study_executors" {
  description = "Executor counts of the server study that fit the executor nodes provisioned."
  value       = module.plan.study_executors
}

output "dropped_executors" {
  description = "Executor counts of the server study left out for want of nodes."
  value       = module.plan.dropped_executors
}
