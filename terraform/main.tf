# AWS nodes for `harness server`: a head (driver + mpirun, the only node reachable from outside,
# by ssh from var.admin_cidr) and var.executors executor nodes (one MPI rank each, the instance
# being the executor's limit), an S3 bucket for data and results, and an instance profile that
# grants the nodes that bucket only. Outputs (outputs.tf) are what `harness server` reads.
#
#   terraform -chdir=terraform apply -var admin_cidr=203.0.113.7/32 \
#     -var "ssh_public_key=$(cat ~/.ssh/id_ed25519.pub)" -var executors=4
#   harness server            # reads `terraform -chdir=terraform output -json`
#   terraform -chdir=terraform destroy
#
# The provider-free logic (names, hostfile, study grid) is modules/plan, tested offline with
# `terraform test`.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_ami" "debian12" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["136693071363"] # Debian's official AWS account

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

module "plan" {
  source               = "./modules/plan"
  cluster_name         = var.cluster_name
  executors            = var.executors
  executor_private_ips = aws_instance.executor[*].private_ip
}

locals {
  ami        = var.ami_id != null ? var.ami_id : data.aws_ami.debian12[0].id
  create_net = var.subnet_id == null
  subnet_id  = local.create_net ? aws_subnet.cluster[0].id : var.subnet_id
  vpc_id     = local.create_net ? aws_vpc.cluster[0].id : data.aws_subnet.existing[0].vpc_id
  bucket     = var.bucket_name != null ? var.bucket_name : aws_s3_bucket.data[0].id
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${local.bucket}"
  user_data = templatefile("${path.module}/user-data.sh.tftpl", {
    region   = var.region
    ssh_user = var.ssh_user
  })
}

# ---------------------------------------------------------------- network

data "aws_subnet" "existing" {
  count = local.create_net ? 0 : 1
  id    = var.subnet_id
}

resource "aws_vpc" "cluster" {
  count                = local.create_net ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.cluster_name }
}

# The VPC's default security group allows nothing; the nodes use the groups below.
resource "aws_default_security_group" "cluster" {
  count  = local.create_net ? 1 : 0
  vpc_id = aws_vpc.cluster[0].id
}

resource "aws_flow_log" "cluster" {
  count                = local.create_net ? 1 : 0
  vpc_id               = aws_vpc.cluster[0].id
  traffic_type         = "REJECT"
  log_destination_type = "s3"
  log_destination      = "${local.bucket_arn}/flow-logs/"
}

resource "aws_internet_gateway" "cluster" {
  count  = local.create_net ? 1 : 0
  vpc_id = aws_vpc.cluster[0].id
  tags   = { Name = var.cluster_name }
}

resource "aws_subnet" "cluster" {
  count                   = local.create_net ? 1 : 0
  vpc_id                  = aws_vpc.cluster[0].id
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, 1)
  availability_zone       = var.availability_zone
  map_public_ip_on_launch = false
  tags                    = { Name = "${var.cluster_name}-nodes" }
}

resource "aws_route_table" "cluster" {
  count  = local.create_net ? 1 : 0
  vpc_id = aws_vpc.cluster[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.cluster[0].id
  }
  tags = { Name = var.cluster_name }
}

resource "aws_route_table_association" "cluster" {
  count          = local.create_net ? 1 : 0
  subnet_id      = aws_subnet.cluster[0].id
  route_table_id = aws_route_table.cluster[0].id
}

# S3 traffic of the nodes stays inside AWS's network (and costs no internet egress).
resource "aws_vpc_endpoint" "s3" {
  count             = local.create_net ? 1 : 0
  vpc_id            = aws_vpc.cluster[0].id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.cluster[0].id]
}

# Every node: all traffic from the other nodes (mpirun's ssh, Open MPI's TCP transport), and out.
resource "aws_security_group" "cluster" {
  name        = "${var.cluster_name}-cluster"
  description = "scaling harness nodes: all traffic between cluster nodes, egress to package mirrors and S3"
  vpc_id      = local.vpc_id

  ingress {
    description = "all traffic from the cluster's own nodes (ssh, Open MPI)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  egress {
    description = "HTTPS and HTTP out: Debian mirrors (apt) and S3"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "HTTPS out: S3 and the Debian security mirror"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "all traffic to the cluster's own nodes"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }
}

# The head only: ssh from the administrator's address range.
resource "aws_security_group" "admin" {
  name        = "${var.cluster_name}-admin"
  description = "scaling harness head: ssh from admin_cidr only"
  vpc_id      = local.vpc_id

  ingress {
    description = "ssh from the administrator (var.admin_cidr)"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }
}

# ---------------------------------------------------------------- bucket

resource "aws_s3_bucket" "data" {
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles the cost of a study's scratch data and results; copy results out if they must outlive the region.
  # checkov:skip=CKV_AWS_18:Access logging needs a second bucket; the VPC flow logs and CloudTrail cover a study's short life. Enable it with your organisation's log bucket if required.
  # checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; the harness polls the objects it wrote itself.
  count         = var.bucket_name == null ? 1 : 0
  bucket        = "${var.cluster_name}-${data.aws_caller_identity.current.account_id}-${var.region}"
  force_destroy = false
}

resource "aws_s3_bucket_versioning" "data" {
  count  = var.bucket_name == null ? 1 : 0
  bucket = aws_s3_bucket.data[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_kms_key" "data" {
  count                   = var.bucket_name == null ? 1 : 0
  description             = "${var.cluster_name}: data and results of scaling studies"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "NodesUseThroughS3"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.node.arn }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }
      },
      {
        Sid       = "FlowLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  count  = var.bucket_name == null ? 1 : 0
  bucket = aws_s3_bucket.data[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data[0].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  count                   = var.bucket_name == null ? 1 : 0
  bucket                  = aws_s3_bucket.data[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  count  = var.bucket_name == null ? 1 : 0
  bucket = aws_s3_bucket.data[0].id

  rule {
    id     = "old-versions-and-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

# ---------------------------------------------------------------- node identity

resource "aws_iam_role" "node" {
  name = "${var.cluster_name}-node"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# The nodes may use the study bucket and nothing else.
resource "aws_iam_role_policy" "node_bucket" {
  name = "study-bucket-only"
  role = aws_iam_role.node.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = local.bucket_arn
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        Resource = "${local.bucket_arn}/*"
      },
    ]
  })
}

resource "aws_iam_instance_profile" "node" {
  name = "${var.cluster_name}-node"
  role = aws_iam_role.node.name
}

resource "aws_key_pair" "admin" {
  key_name   = "${var.cluster_name}-admin"
  public_key = var.ssh_public_key
}

# ---------------------------------------------------------------- nodes

resource "aws_instance" "head" {
  # checkov:skip=CKV_AWS_88:The head is the cluster's one entry point: its public address takes ssh from admin_cidr only (security group admin); executors have no inbound path from outside.
  ami                         = local.ami
  instance_type               = var.head_instance_type
  subnet_id                   = local.subnet_id
  vpc_security_group_ids      = [aws_security_group.cluster.id, aws_security_group.admin.id]
  associate_public_ip_address = true
  key_name                    = aws_key_pair.admin.key_name
  iam_instance_profile        = aws_iam_instance_profile.node.name
  ebs_optimized               = true
  monitoring                  = true
  user_data                   = local.user_data

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size = var.root_volume_gb
    volume_type = "gp3"
    encrypted   = true
  }

  tags = { Name = module.plan.head_name, Role = "head" }
}

resource "aws_instance" "executor" {
  # checkov:skip=CKV_AWS_88:Executors need a public address for egress to Debian's mirrors without a NAT gateway (~33 USD/month); inbound from outside is closed (security group cluster accepts only the cluster's nodes).
  count                       = var.executors
  ami                         = local.ami
  instance_type               = var.instance_type
  subnet_id                   = local.subnet_id
  vpc_security_group_ids      = [aws_security_group.cluster.id]
  associate_public_ip_address = true
  key_name                    = aws_key_pair.admin.key_name
  iam_instance_profile        = aws_iam_instance_profile.node.name
  ebs_optimized               = true
  monitoring                  = true
  user_data                   = local.user_data

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size = var.root_volume_gb
    volume_type = "gp3"
    encrypted   = true
  }

  tags = { Name = module.plan.executor_names[count.index], Role = "executor" }
}
