import sys
from pathlib import Path

# The service is not installed; its tests import it from this folder.
sys.path.insert(0, str(Path(__file__).parent))
