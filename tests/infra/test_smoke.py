from infra.plan.runtime import Plan


def test_dev_plan_registers_workspaces_for_every_dev_project(dev_plan: Plan) -> None:
    workspaces = dev_plan.by_type("azure-native:machinelearningservices:Workspace")
    assert sorted(w.physical_name for w in workspaces) == [
        "mlw-mlp-dev-maas-lab",
        "mlw-mlp-dev-nlp-research",
        "mlw-mlp-dev-vision-lab",
    ]
