variable "project_id" {
  description = "GCP project ID that hosts the GKE cluster, Artifact Registry and backup bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a valid GCP project ID (6-30 chars, lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the regional GKE cluster, Artifact Registry repository and backup bucket."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "The region must look like a GCP region, e.g. europe-west1."
  }
}

variable "name" {
  description = "Prefix for every resource name (cluster, network, repository...)."
  type        = string
  default     = "splitlyr"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "The name must be 2-21 chars of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "subnet_cidr" {
  description = "Primary range of the node subnet."
  type        = string
  default     = "10.20.0.0/20"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "The subnet_cidr must be a valid IPv4 CIDR block."
  }
}

variable "pods_cidr" {
  description = "Secondary range for pods (VPC-native cluster). ingress-nginx reaches the API from this range, so it is also the API's trusted proxy range: APP__RATE_LIMIT__TRUSTED_PROXIES in k8s/base/config.env must match it."
  type        = string
  default     = "10.24.0.0/14"

  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "The pods_cidr must be a valid IPv4 CIDR block."
  }
}

variable "services_cidr" {
  description = "Secondary range for Services."
  type        = string
  default     = "10.28.0.0/20"

  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "The services_cidr must be a valid IPv4 CIDR block."
  }
}

variable "master_cidr" {
  description = "/28 range for the private control plane endpoint peering."
  type        = string
  default     = "172.16.0.0/28"

  validation {
    condition     = can(cidrhost(var.master_cidr, 0)) && endswith(var.master_cidr, "/28")
    error_message = "The master_cidr must be a /28 IPv4 CIDR block."
  }
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the Kubernetes API endpoint (CI runners, office VPN)."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
  default = []

  validation {
    condition     = alltrue([for n in var.master_authorized_networks : can(cidrhost(n.cidr_block, 0))])
    error_message = "Every master_authorized_networks entry needs a valid IPv4 CIDR block."
  }
}

variable "release_channel" {
  description = "GKE release channel."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "The release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "machine_type" {
  description = "Machine type of the node pool."
  type        = string
  default     = "e2-standard-2"
}

variable "node_min_count" {
  description = "Minimum nodes per zone in the autoscaling node pool."
  type        = number
  default     = 1

  validation {
    condition     = var.node_min_count >= 0 && var.node_min_count <= 100
    error_message = "The node_min_count must be between 0 and 100."
  }
}

variable "node_max_count" {
  description = "Maximum nodes per zone in the autoscaling node pool."
  type        = number
  default     = 5

  validation {
    condition     = var.node_max_count >= 1 && var.node_max_count <= 100
    error_message = "The node_max_count must be between 1 and 100."
  }
}

variable "app_namespace" {
  description = "Kubernetes namespace of the production overlay (Workload Identity binding of the backup job)."
  type        = string
  default     = "splitlyr"
}

variable "backup_retention_days" {
  description = "Days a MongoDB backup object is kept in the backup bucket before the lifecycle rule deletes it."
  type        = number
  default     = 30

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 3650
    error_message = "The backup_retention_days must be between 1 and 3650."
  }
}

variable "jwt_secret_id" {
  description = "Secret Manager secret ID for the JWT secret (created empty; add a version with gcloud). Use a different ID than the gce stack if both live in one project."
  type        = string
  default     = "splitlyr-gke-jwt-secret"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.jwt_secret_id))
    error_message = "The jwt_secret_id may contain only letters, digits, underscores and hyphens."
  }
}

variable "mongo_uri_secret_id" {
  description = "Secret Manager secret ID for the MongoDB URI (created empty; add a version with gcloud)."
  type        = string
  default     = "splitlyr-gke-mongo-uri"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.mongo_uri_secret_id))
    error_message = "The mongo_uri_secret_id may contain only letters, digits, underscores and hyphens."
  }
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose Actions may deploy (Workload Identity Federation). Empty disables the CI identity."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "The github_repository must be empty or of the form owner/name."
  }
}

variable "ci_deploy_branches" {
  description = "Git branches whose GitHub Actions runs may impersonate the CI service account."
  type        = list(string)
  default     = ["testing", "main"]

  validation {
    condition     = length(var.ci_deploy_branches) > 0 && alltrue([for b in var.ci_deploy_branches : can(regex("^[A-Za-z0-9._/-]+$", b))])
    error_message = "The ci_deploy_branches must be a non-empty list of branch names."
  }
}
