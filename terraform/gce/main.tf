locals {
  image_project = var.image_project_id != "" ? var.image_project_id : var.project_id
  # Google Front End / health-check source ranges (global external ALB).
  google_lb_ranges = ["35.191.0.0/16", "130.211.0.0/22"]
  # APP__RATE_LIMIT__TRUSTED_PROXIES. The TCP peer is a GFE (google_lb_ranges),
  # and Google appends "<client-ip>, <load-balancer-ip>" to X-Forwarded-For.
  # The server walks X-Forwarded-For from the right and keys on the first
  # address it does not trust, so the LB's own address must be trusted too, or
  # every client would share the LB's bucket.
  trusted_proxies = distinct(concat(
    local.google_lb_ranges,
    [google_compute_global_address.lb.address],
    var.trusted_proxies,
  ))
  network_tag = var.name
  http_port   = 3000
}

data "google_compute_image" "splitlyr" {
  family  = var.image_family
  project = local.image_project
}

###############################################################################
# Network
###############################################################################

resource "google_compute_network" "main" {
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "main" {
  name                     = "${var.name}-subnet"
  region                   = var.region
  network                  = google_compute_network.main.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Instances have no external IP; NAT gives them egress to MongoDB (e.g. Atlas).
resource "google_compute_router" "main" {
  name    = "${var.name}-router"
  region  = var.region
  network = google_compute_network.main.id
}

resource "google_compute_router_nat" "main" {
  name                               = "${var.name}-nat"
  router                             = google_compute_router.main.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.main.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Only the API port. The admin listener (/metrics, the detailed /v1/healthz)
# binds 127.0.0.1:3001 on the instances (packer/files/splitlyr.service) and is
# never opened here; the load balancer's and autohealing's checks use the
# public /v1/healthz, whose status code is all they read.
resource "google_compute_firewall" "allow_lb_health_checks" {
  name        = "${var.name}-allow-lb-hc"
  network     = google_compute_network.main.id
  description = "Google Front Ends and health checkers to the API port only."
  direction   = "INGRESS"
  priority    = 1000

  source_ranges = local.google_lb_ranges
  target_tags   = [local.network_tag]

  allow {
    protocol = "tcp"
    ports    = [tostring(local.http_port)]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

###############################################################################
# Identity and secrets
###############################################################################

resource "google_service_account" "instance" {
  account_id   = "${var.name}-vm"
  display_name = "Splitlyr API instances"
  description  = "Runs the Splitlyr API on the MIG: writes logs and metrics, reads its two secrets."
}

resource "google_project_iam_member" "instance_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.instance.email}"
}

resource "google_project_iam_member" "instance_metric_writer" {
  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = "serviceAccount:${google_service_account.instance.email}"
}

# Only the secret containers live in Terraform; their values are added with
# `gcloud secrets versions add` (docs/operations.md) and never enter state or git.
resource "google_secret_manager_secret" "jwt" {
  #checkov:skip=CKV_GCP_128:Google-managed encryption is accepted for these two application secrets; switch to CMEK (customer_managed_encryption) if policy requires it.
  secret_id = var.jwt_secret_id

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "mongo_uri" {
  #checkov:skip=CKV_GCP_128:Google-managed encryption is accepted for these two application secrets; switch to CMEK (customer_managed_encryption) if policy requires it.
  secret_id = var.mongo_uri_secret_id

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "instance_jwt" {
  secret_id = google_secret_manager_secret.jwt.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.instance.email}"
}

resource "google_secret_manager_secret_iam_member" "instance_mongo_uri" {
  secret_id = google_secret_manager_secret.mongo_uri.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.instance.email}"
}

###############################################################################
# Instances
###############################################################################

resource "google_compute_instance_template" "splitlyr" {
  #checkov:skip=CKV_GCP_32:OS Login is enforced (enable-oslogin) and project keys are blocked; checkov's metadata matcher does not see the map form.
  name_prefix  = "${var.name}-"
  description  = "Splitlyr API from image ${data.google_compute_image.splitlyr.name}"
  machine_type = var.machine_type
  region       = var.region
  tags         = [local.network_tag]

  labels = {
    app = "splitlyr"
  }

  disk {
    source_image = data.google_compute_image.splitlyr.self_link
    auto_delete  = true
    boot         = true
    disk_type    = "pd-balanced"
    disk_size_gb = 10
  }

  network_interface {
    subnetwork = google_compute_subnetwork.main.id
    # No access_config: no external IP.
  }

  service_account {
    email  = google_service_account.instance.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    block-project-ssh-keys = "true"
    enable-oslogin         = "TRUE"
    serial-port-enable     = "FALSE"
    # Read by splitlyr-fetch-secrets.sh at service start.
    splitlyr-jwt-secret-id       = google_secret_manager_secret.jwt.id
    splitlyr-mongo-uri-secret-id = google_secret_manager_secret.mongo_uri.id
    splitlyr-database-name       = var.database_name
    splitlyr-cors-origins        = var.cors_allowed_origins
    splitlyr-trusted-proxies     = join(",", local.trusted_proxies)
  }

  scheduling {
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_health_check" "autohealing" {
  name                = "${var.name}-autohealing"
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 3

  http_health_check {
    port         = local.http_port
    request_path = var.autohealing_path
  }

  log_config {
    enable = true
  }
}

resource "google_compute_health_check" "lb" {
  name                = "${var.name}-lb"
  check_interval_sec  = 5
  timeout_sec         = 3
  healthy_threshold   = 2
  unhealthy_threshold = 2

  http_health_check {
    port         = local.http_port
    request_path = "/v1/healthz"
  }
}

resource "google_compute_region_instance_group_manager" "splitlyr" {
  name               = "${var.name}-mig"
  base_instance_name = var.name
  region             = var.region

  version {
    name              = "primary"
    instance_template = google_compute_instance_template.splitlyr.self_link_unique
  }

  named_port {
    name = "http"
    port = local.http_port
  }

  auto_healing_policies {
    health_check      = google_compute_health_check.autohealing.id
    initial_delay_sec = 180
  }

  update_policy {
    type                         = "PROACTIVE"
    instance_redistribution_type = "PROACTIVE"
    minimal_action               = "REPLACE"
    replacement_method           = "SUBSTITUTE"
    # Regional MIG: surge must be 0 or >= number of zones (3).
    max_surge_fixed       = 3
    max_unavailable_fixed = 0
  }

  # The autoscaler owns the size.
  lifecycle {
    ignore_changes = [target_size]
  }
}

resource "google_compute_region_autoscaler" "splitlyr" {
  name   = "${var.name}-autoscaler"
  region = var.region
  target = google_compute_region_instance_group_manager.splitlyr.id

  autoscaling_policy {
    min_replicas    = var.min_replicas
    max_replicas    = var.max_replicas
    cooldown_period = 120
    mode            = "ON"

    cpu_utilization {
      target = var.cpu_target
    }

    scale_in_control {
      time_window_sec = 600
      max_scaled_in_replicas {
        fixed = 1
      }
    }
  }
}
