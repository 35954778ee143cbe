"""Exchange with other tools: import (CSV, JSON lines, CRM exports) and export."""
