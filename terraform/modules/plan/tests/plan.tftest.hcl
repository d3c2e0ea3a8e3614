# `terraform test` of the provider-free plan module; runs offline (no provider, no resources).

variables {
  cluster_name = "study"
  executors    = 4
}

run "names_follow_the_cluster_name" {
  command = plan

  assert {
    condition     = output.head_name == "study-head"
    error_message = "the head is <cluster_name>-head"
  }
  assert {
    condition     = output.executor_names == ["study-executor-1", "study-executor-2", "study-executor-3", "study-executor-4"]
    error_message = "executors are <cluster_name>-executor-1 … -4, in rank order"
  }
}

run "grid_is_restricted_to_the_nodes_provisioned" {
  command = plan

  assert {
    condition     = output.study_executors == [2, 4]
    error_message = "with 4 executor nodes the server study keeps executor counts 2 and 4"
  }
  assert {
    condition     = output.dropped_executors == [8, 16, 24, 32]
    error_message = "8, 16, 24 and 32 executors do not fit 4 nodes"
  }
}

run "slots_per_node_widen_the_grid" {
  command = plan

  variables {
    slots_per_node = 2
  }

  assert {
    condition     = output.study_executors == [2, 4, 8]
    error_message = "4 nodes × 2 slots fit 8 executors"
  }
}

run "hostfile_lists_executors_in_rank_order" {
  command = plan

  variables {
    executors            = 2
    executor_private_ips = ["10.0.1.11", "10.0.1.12"]
  }

  assert {
    condition     = output.hostfile == "10.0.1.11 slots=1\n10.0.1.12 slots=1\n"
    error_message = "one line per executor node, slots=1"
  }
}

run "hostfile_is_empty_before_addresses_exist" {
  command = plan

  assert {
    condition     = output.hostfile == ""
    error_message = "no addresses, no lines"
  }
}

run "an_address_per_node_is_required" {
  command = plan

  variables {
    executors            = 3
    executor_private_ips = ["10.0.1.11"]
  }

  expect_failures = [output.hostfile]
}

run "executor_count_is_bounded" {
  command = plan

  variables {
    executors = 0
  }

  expect_failures = [var.executors]
}

run "cluster_name_must_be_a_host_name" {
  command = plan

  variables {
    cluster_name = "My Cluster"
  }

  expect_failures = [var.cluster_name]
}

run "addresses_must_be_ipv4" {
  command = plan

  variables {
    executors            = 1
    executor_private_ips = ["executor-1"]
  }

  expect_failures = [var.executor_private_ips]
}
