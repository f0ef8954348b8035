from tests.infra.conftest import dev_plan, prod_plan, sandbox

__all__ = ["dev_plan", "prod_plan", "sandbox"]
