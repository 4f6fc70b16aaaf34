variable "project_id" {
  description = "GCP project ID that hosts the Splitlyr MIG stack."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a valid GCP project ID (6-30 chars, lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the regional managed instance group, subnet and Cloud NAT."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "The region must look like a GCP region, e.g. europe-west1."
  }
}

variable "name" {
  description = "Prefix for every resource name."
  type        = string
  default     = "splitlyr"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "The name must be 2-21 chars of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "subnet_cidr" {
  description = "Primary IPv4 range of the instances' subnet."
  type        = string
  default     = "10.10.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "The subnet_cidr must be a valid IPv4 CIDR block."
  }
}

variable "image_family" {
  description = "Image family built by packer/ (the instance template uses its latest image)."
  type        = string
  default     = "splitlyr"
}

variable "image_project_id" {
  description = "Project that owns the image family (defaults to project_id)."
  type        = string
  default     = ""
}

variable "machine_type" {
  description = "Machine type of the API instances."
  type        = string
  default     = "e2-small"
}

variable "min_replicas" {
  description = "Minimum number of instances kept by the autoscaler."
  type        = number
  default     = 2

  validation {
    condition     = var.min_replicas >= 1 && var.min_replicas <= 100
    error_message = "The min_replicas must be between 1 and 100."
  }
}

variable "max_replicas" {
  description = "Maximum number of instances the autoscaler may create."
  type        = number
  default     = 10

  validation {
    condition     = var.max_replicas >= 1 && var.max_replicas <= 100
    error_message = "The max_replicas must be between 1 and 100."
  }
}

variable "cpu_target" {
  description = "Target average CPU utilisation of the autoscaler (0-1)."
  type        = number
  default     = 0.7

  validation {
    condition     = var.cpu_target > 0 && var.cpu_target < 1
    error_message = "The cpu_target must be strictly between 0 and 1."
  }
}

variable "autohealing_path" {
  description = "HTTP path of the MIG autohealing health check. Trade-off: /v1/healthz (default) also pings MongoDB and returns 503 while the database is unreachable, so during a database outage autohealing recreates every VM although the VMs are fine (churn, cold starts, no benefit). /v1/livez only checks that the process answers, which avoids that; the load balancer's own /v1/healthz check still takes instances out of rotation either way. See docs/operations.md."
  type        = string
  default     = "/v1/healthz"

  validation {
    condition     = contains(["/v1/healthz", "/v1/livez"], var.autohealing_path)
    error_message = "The autohealing_path must be /v1/healthz or /v1/livez."
  }
}

variable "domain" {
  description = "Public hostname of the API (managed certificate + DNS record), e.g. api.splitlyr.example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "The domain must be a fully qualified lowercase hostname without a trailing dot."
  }
}

variable "dns_managed_zone" {
  description = "Name of the existing Cloud DNS managed zone that contains var.domain."
  type        = string
}

variable "jwt_secret_id" {
  description = "Secret Manager secret ID holding the JWT signing secret (>= 32 bytes). Only the secret is created here; add versions with gcloud."
  type        = string
  default     = "splitlyr-jwt-secret"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.jwt_secret_id))
    error_message = "The jwt_secret_id may contain only letters, digits, underscores and hyphens."
  }
}

variable "mongo_uri_secret_id" {
  description = "Secret Manager secret ID holding the MongoDB connection string. Only the secret is created here; add versions with gcloud."
  type        = string
  default     = "splitlyr-mongo-uri"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.mongo_uri_secret_id))
    error_message = "The mongo_uri_secret_id may contain only letters, digits, underscores and hyphens."
  }
}

variable "cors_allowed_origins" {
  description = "Comma-separated CORS origins passed to the server (APP__CORS__ALLOWED_ORIGINS) through instance metadata."
  type        = string
  default     = ""
}

variable "database_name" {
  description = "MongoDB database name (APP__DATABASE__NAME), passed through instance metadata."
  type        = string
  default     = "splitlyr"
}

variable "trusted_proxies" {
  description = "Additional addresses or CIDR ranges (e.g. 203.0.113.0/28) whose X-Forwarded-For the rate limiter trusts, on top of the ones always trusted: the Google Front End ranges 35.191.0.0/16 and 130.211.0.0/22 (the TCP peer behind the global external Application Load Balancer) and the load balancer's own reserved address (Google appends `<client-ip>, <lb-ip>` to X-Forwarded-For). Only add proxies you run in front of the load balancer yourself."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for p in var.trusted_proxies :
      can(cidrhost(p, 0)) || can(cidrhost("${p}/32", 0)) || can(cidrhost("${p}/128", 0))
    ])
    error_message = "Each trusted_proxies entry must be an IPv4/IPv6 address (10.0.0.7) or CIDR range (10.0.0.0/8)."
  }

  validation {
    condition     = alltrue([for p in var.trusted_proxies : !contains(["0.0.0.0/0", "::/0"], p)])
    error_message = "A trusted_proxies entry of 0.0.0.0/0 or ::/0 would let every client forge its rate-limit key."
  }
}
