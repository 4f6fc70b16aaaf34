terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # State in GCS; configure at init time:
  #   terraform init -backend-config="bucket=<state-bucket>" -backend-config="prefix=splitlyr/gke"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app        = "splitlyr"
    managed-by = "terraform"
    stack      = "gke"
  }
}
