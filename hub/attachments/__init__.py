"""Large attachments: a store outside the packages, uploads, downloads and retention."""
