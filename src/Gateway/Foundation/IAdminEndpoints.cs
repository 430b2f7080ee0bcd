namespace Gateway.Foundation;

/// <summary>
/// A capability's operations on the admin API. The management listener maps every registered one under <c>/admin</c>,
/// behind the Bearer-token filter, so no central file has to know each capability.
/// </summary>
internal interface IAdminEndpoints
{
    void Map(IEndpointRouteBuilder admin);
}
