# Splitlyr GCE image: Debian + the release binary + config + a hardened
# systemd unit. Build from the repository root after `cargo build --release`:
#
#   packer init packer/
#   packer build -var project_id=my-project -var zone=europe-west1-b packer/
#
# The image contains no secret: at boot, splitlyr-fetch-secrets.sh reads them
# from Secret Manager with the instance service account. Of config/ only
# default.toml and production.toml are installed (local.toml and test.toml
# hold development secrets).

variable "project_id" {
  type        = string
  description = "GCP project that builds and owns the image."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a valid GCP project ID."
  }
}

variable "zone" {
  type        = string
  description = "Zone of the temporary build VM."
  default     = "europe-west1-b"
}

variable "source_image_family" {
  type        = string
  description = "Base image family (Debian 12 matches the glibc the binary is built against)."
  default     = "debian-12"
}

variable "source_image_project_id" {
  type        = list(string)
  description = "Projects searched for source_image_family."
  default     = ["debian-cloud"]
}

variable "image_family" {
  type        = string
  description = "Image family the new image joins; the instance template follows this family."
  default     = "splitlyr"
}

variable "image_version" {
  type        = string
  description = "Version label / name suffix (e.g. the git SHA). Defaults to a timestamp."
  default     = ""
}

variable "machine_type" {
  type        = string
  description = "Machine type of the temporary build VM."
  default     = "e2-small"
}

variable "binary_path" {
  type        = string
  description = "Release binary to install (cargo build --release output)."
  default     = "target/release/splitlyr"
}

variable "config_dir" {
  type        = string
  description = "Configuration directory whose default.toml and production.toml are installed to /etc/splitlyr (local.toml and test.toml hold development secrets and are never shipped)."
  default     = "config"
}

variable "subnetwork" {
  type        = string
  description = "Optional subnetwork for the build VM (empty: default network)."
  default     = ""
}

variable "use_internal_ip" {
  type        = bool
  description = "Connect to the build VM over its internal IP (when Packer runs inside the VPC)."
  default     = false
}

locals {
  version    = var.image_version != "" ? var.image_version : formatdate("YYYYMMDDhhmmss", timestamp())
  image_name = "splitlyr-${lower(replace(local.version, "/[^a-zA-Z0-9-]/", "-"))}"
}

source "googlecompute" "splitlyr" {
  project_id              = var.project_id
  zone                    = var.zone
  source_image_family     = var.source_image_family
  source_image_project_id = var.source_image_project_id
  machine_type            = var.machine_type
  subnetwork              = var.subnetwork
  use_internal_ip         = var.use_internal_ip
  omit_external_ip        = var.use_internal_ip

  image_name        = local.image_name
  image_family      = var.image_family
  image_description = "Splitlyr API server ${local.version}"
  image_labels = {
    app     = "splitlyr"
    version = lower(replace(local.version, "/[^a-zA-Z0-9_-]/", "-"))
  }

  disk_size                   = 10
  disk_type                   = "pd-balanced"
  enable_secure_boot          = true
  enable_vtpm                 = true
  enable_integrity_monitoring = true

  ssh_username = "packer"
  tags         = ["packer-build"]
  metadata = {
    block-project-ssh-keys = "true"
  }
}

build {
  name    = "splitlyr"
  sources = ["source.googlecompute.splitlyr"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/splitlyr-staging/config"]
  }

  provisioner "file" {
    source      = var.binary_path
    destination = "/tmp/splitlyr-staging/splitlyr"
  }

  # Production's configuration only: config/local.toml and config/test.toml
  # carry development secrets (provision.sh refuses an image with them).
  provisioner "file" {
    sources = [
      "${var.config_dir}/default.toml",
      "${var.config_dir}/production.toml",
    ]
    destination = "/tmp/splitlyr-staging/config/"
  }

  provisioner "file" {
    sources = [
      "${path.root}/files/splitlyr.service",
      "${path.root}/files/splitlyr-fetch-secrets.sh",
      "${path.root}/files/provision.sh",
    ]
    destination = "/tmp/splitlyr-staging/"
  }

  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    inline          = ["bash /tmp/splitlyr-staging/provision.sh /tmp/splitlyr-staging"]
  }

  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
  }
}
