data "google_project" "current" {
  project_id = var.project_id
}

###############################################################################
# Network (VPC-native, private nodes, NAT for egress to MongoDB)
###############################################################################

resource "google_compute_network" "main" {
  name                    = "${var.name}-gke-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "nodes" {
  name                     = "${var.name}-gke-nodes"
  region                   = var.region
  network                  = google_compute_network.main.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = var.pods_cidr
  }

  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = var.services_cidr
  }

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# GKE adds the allow rules it needs (priority 1000); everything else inbound
# is denied explicitly and logged.
resource "google_compute_firewall" "deny_all_ingress" {
  name        = "${var.name}-gke-deny-all-ingress"
  network     = google_compute_network.main.id
  description = "Explicit default deny for ingress, below GKE-managed rules."
  direction   = "INGRESS"
  priority    = 65534

  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "main" {
  name    = "${var.name}-gke-router"
  region  = var.region
  network = google_compute_network.main.id
}

resource "google_compute_router_nat" "main" {
  name                               = "${var.name}-gke-nat"
  router                             = google_compute_router.main.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

###############################################################################
# Node identity (least privilege)
###############################################################################

resource "google_service_account" "nodes" {
  account_id   = "${var.name}-gke-nodes"
  display_name = "Splitlyr GKE nodes"
  description  = "Node pool identity: logs, metrics, image pulls. Workloads use Workload Identity instead."
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

###############################################################################
# Regional GKE cluster
###############################################################################

resource "google_container_cluster" "main" {
  #checkov:skip=CKV_GCP_66:Binary Authorization needs an attestor pipeline that does not exist yet; images are pinned by digest from our own Artifact Registry.
  #checkov:skip=CKV_GCP_24:PodSecurityPolicy was removed from Kubernetes (1.25); Pod Security Admission "restricted" is enforced per namespace by the overlays.
  #checkov:skip=CKV_GCP_12:Dataplane V2 (datapath_provider = ADVANCED_DATAPATH) enforces NetworkPolicy natively; the legacy network_policy (Calico) block is incompatible with it.
  #checkov:skip=CKV_GCP_69:The default node pool is removed; the managed pool below sets workload_metadata_config mode = GKE_METADATA.
  #checkov:skip=CKV_GCP_65:Google Groups for RBAC requires a Workspace/Cloud Identity group domain; enable with authenticator_groups_config once it exists.
  name     = "${var.name}-gke"
  location = var.region

  # Node pools are managed separately below.
  remove_default_node_pool = true
  initial_node_count       = 1

  network         = google_compute_network.main.id
  subnetwork      = google_compute_subnetwork.nodes.id
  networking_mode = "VPC_NATIVE"
  # Dataplane V2 enforces the NetworkPolicies in k8s/.
  datapath_provider = "ADVANCED_DATAPATH"

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = var.master_cidr

    master_global_access_config {
      enabled = false
    }
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value.cidr_block
        display_name = cidr_blocks.value.display_name
      }
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  release_channel {
    channel = var.release_channel
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  enable_shielded_nodes       = true
  enable_intranode_visibility = true
  enable_legacy_abac          = false
  deletion_protection         = true

  resource_labels = {
    app = "splitlyr"
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]
    managed_prometheus {
      enabled = false
    }
  }

  addons_config {
    http_load_balancing {
      disabled = false
    }
    horizontal_pod_autoscaling {
      disabled = false
    }
  }

  maintenance_policy {
    recurring_window {
      start_time = "2025-01-04T02:00:00Z"
      end_time   = "2025-01-04T06:00:00Z"
      recurrence = "FREQ=WEEKLY;BYDAY=SA,SU"
    }
  }

  security_posture_config {
    mode               = "BASIC"
    vulnerability_mode = "VULNERABILITY_BASIC"
  }
}

resource "google_container_node_pool" "default" {
  name     = "${var.name}-pool"
  cluster  = google_container_cluster.main.id
  location = var.region

  # Per zone: a regional cluster has nodes in 3 zones.
  initial_node_count = var.node_min_count
  autoscaling {
    min_node_count  = var.node_min_count
    max_node_count  = var.node_max_count
    location_policy = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
    strategy        = "SURGE"
  }

  node_config {
    machine_type    = var.machine_type
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-balanced"
    disk_size_gb    = 50
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]

    labels = {
      app = "splitlyr"
    }

    metadata = {
      disable-legacy-endpoints = "true"
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }

  lifecycle {
    ignore_changes = [initial_node_count]
  }
}
